/**
 * A minimal Prometheus registry: counters and histograms with labels, and gauges read at
 * scrape time. Rendered in the text exposition format (version 0.0.4).
 */
type Labels = Record<string, string>;

interface Family {
  render(lines: string[]): void;
}

const escapeLabel = (value: string): string => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  return entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

/** Series are found by their label values joined (cheap on every request); the text is built once. */
function seriesKey(labels: Labels): string {
  let key = '';
  for (const name in labels) key += `${labels[name]}\u0001`;
  return key;
}

export class Counter implements Family {
  private readonly series = new Map<string, { text: string; value: number }>();
  constructor(
    private readonly name: string,
    private readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = seriesKey(labels);
    const entry = this.series.get(key);
    if (entry) entry.value += by;
    else this.series.set(key, { text: labelText(labels), value: by });
  }

  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    for (const { text, value } of this.series.values()) lines.push(`${this.name}${text} ${value}`);
  }
}

export class Histogram implements Family {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    private readonly name: string,
    private readonly help: string,
    private readonly buckets: readonly number[],
  ) {}

  observe(value: number, labels: Labels = {}): void {
    const key = seriesKey(labels);
    let entry = this.series.get(key);
    if (!entry) {
      entry = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, entry);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) entry.counts[i]!++;
    entry.sum += value;
    entry.count++;
  }

  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const { labels, counts, sum, count } of this.series.values()) {
      this.buckets.forEach((bound, i) => {
        lines.push(`${this.name}_bucket${labelText({ ...labels, le: String(bound) })} ${counts[i]}`);
      });
      lines.push(`${this.name}_bucket${labelText({ ...labels, le: '+Inf' })} ${count}`);
      lines.push(`${this.name}_sum${labelText(labels)} ${sum}`, `${this.name}_count${labelText(labels)} ${count}`);
    }
  }
}

/** A gauge, or a counter kept elsewhere, read when scraped. */
export class Gauge implements Family {
  constructor(
    private readonly name: string,
    private readonly help: string,
    private readonly read: () => [Labels, number][],
    private readonly type: 'gauge' | 'counter' = 'gauge',
  ) {}

  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`);
    for (const [labels, value] of this.read()) lines.push(`${this.name}${labelText(labels)} ${value}`);
  }
}

export class Registry {
  private readonly families = new Map<string, Family>();

  counter(name: string, help: string): Counter {
    return this.add(name, new Counter(name, help));
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.add(name, new Histogram(name, help, buckets));
  }

  /** A gauge read when scraped; registering a name again replaces its reader. */
  gauge(name: string, help: string, read: () => [Labels, number][]): void {
    this.families.set(name, new Gauge(name, help, read));
  }

  /** A counter whose value lives elsewhere (a module's own tally), read when scraped. */
  counterFrom(name: string, help: string, read: () => [Labels, number][]): void {
    this.families.set(name, new Gauge(name, help, read, 'counter'));
  }

  render(): string {
    const lines: string[] = [];
    for (const family of this.families.values()) family.render(lines);
    return `${lines.join('\n')}\n`;
  }

  private add<T extends Family>(name: string, family: T): T {
    this.families.set(name, family);
    return family;
  }
}
