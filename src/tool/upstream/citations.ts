import type { Citation } from './types.ts';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A token count as the upstream reports it: a non-negative integer, else nothing. */
export function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/**
 * URL citations in order of first use, each URL once (the first title seen wins). Chat
 * Completions nests them (`{type: "url_citation", url_citation: {url, title}}`); the Responses
 * API puts the fields on the annotation itself.
 */
export class Citations {
  private readonly byUrl = new Map<string, Citation>();

  addChat(annotations: unknown): void {
    if (!Array.isArray(annotations)) return;
    for (const annotation of annotations) {
      if (isRecord(annotation) && annotation.type === 'url_citation' && isRecord(annotation.url_citation))
        this.add(annotation.url_citation);
    }
  }

  addResponses(annotations: unknown): void {
    if (!Array.isArray(annotations)) return;
    for (const annotation of annotations) if (isRecord(annotation) && annotation.type === 'url_citation') this.add(annotation);
  }

  list(): Citation[] {
    return [...this.byUrl.values()];
  }

  private add(source: Record<string, unknown>): void {
    const { url, title } = source;
    if (typeof url !== 'string' || url === '' || this.byUrl.has(url)) return;
    this.byUrl.set(url, typeof title === 'string' && title !== '' ? { url, title } : { url });
  }
}
