/** Types for the ajv standalone validator generated next to this file. */
export interface ValidationError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
  propertyName?: string;
}

export interface ArgumentValidator {
  (data: unknown): boolean;
  errors?: ValidationError[] | null;
}

export declare const validate: ArgumentValidator;
export default validate;
