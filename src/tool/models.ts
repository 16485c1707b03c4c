/**
 * Model name rules: which models are reasoning models (sent `max_completion_tokens`, and no
 * default temperature), and which a shared deployment allows.
 *
 * Patterns are globs (`*` matches anything) compared, case-insensitively, with the model name
 * after any provider prefix (`openai/o3-mini` is matched as `o3-mini`). A pattern starting with
 * `!` excludes: a model matches when a plain pattern matches it and no `!` pattern does.
 */
export function modelMatcher(patterns: readonly string[]): (model: string) => boolean {
  const include = patterns.filter((p) => !p.startsWith('!')).map(globToRegExp);
  const exclude = patterns.filter((p) => p.startsWith('!')).map((p) => globToRegExp(p.slice(1)));
  return (model) => {
    const name = model.slice(model.lastIndexOf('/') + 1);
    return include.some((re) => re.test(name)) && !exclude.some((re) => re.test(name));
  };
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .trim()
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 'i');
}
