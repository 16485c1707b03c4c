import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generateValidatorSource, VALIDATOR_PATH } from '../scripts/generate-validator.ts';

const test = suite('build-time argument validator');

test('the committed validator matches src/tool/schema.ts (run npm run generate:validator)', () => {
  assert.is(readFileSync(VALIDATOR_PATH, 'utf8'), generateValidatorSource());
});

test('the generated code needs no ajv at run time', () => {
  const source = readFileSync(VALIDATOR_PATH, 'utf8');
  assert.not.match(source, /require\(|from "ajv/);
});

test.run();
