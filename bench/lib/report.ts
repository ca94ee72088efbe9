import { summarize, type Summary } from './stats.js';

export type Unit = 'req/s' | 'updates/s' | 'ms' | 'µs' | 'KiB' | 'MiB' | '%' | '% core' | '';

/** A goal from the issue, judged on the median. */
export interface Goal {
  text: string;
  met: boolean;
}

/** One line of the results table. */
export interface Row {
  scenario: string;
  unit: Unit;
  /** Ours: one value per round (or per sample), summarized. */
  ours: Summary;
  baseline?: { label: string; value: Summary };
  /** ours ÷ baseline within each round, summarized. */
  ratio?: Summary;
  goal?: Goal;
}

export interface RowSpec {
  scenario: string;
  unit: Unit;
  ours: number[];
  baseline?: { label: string; values: number[] };
  /** Judges the row; gets the median of ours and of the per-round ratio. */
  goal?: { text: string; met: (ours: number, ratio: number) => boolean };
}

/** Builds a row from per-round values; the ratio is taken within each round, then summarized. */
export function row({ scenario, unit, ours, baseline, goal }: RowSpec): Row {
  const ratio = baseline ? summarize(ours.map((value, i) => value / baseline.values[i]!)) : undefined;
  const oursSummary = summarize(ours);
  return {
    scenario,
    unit,
    ours: oursSummary,
    baseline: baseline && { label: baseline.label, value: summarize(baseline.values) },
    ratio,
    goal: goal && { text: goal.text, met: goal.met(oursSummary.median, ratio?.median ?? NaN) },
  };
}

/** A number with about three significant digits and thousands separators. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'n/a' : value > 0 ? '∞' : '-∞';
  const magnitude = Math.abs(value);
  if (magnitude === 0) return '0';
  if (magnitude >= 1_000) return Math.round(value).toLocaleString('en-US');
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}

function cell(summary: Summary, unit: string): string {
  const value = `${formatNumber(summary.median)}${unit === '×' ? '×' : unit ? ` ${unit}` : ''}`;
  if (summary.n < 2 || summary.min === summary.max) return value;
  return `${value} (${formatNumber(summary.min)}–${formatNumber(summary.max)})`;
}

/** The results as a Markdown table: scenario | ours | baseline | ratio | goal | met? */
export function markdownTable(rows: readonly Row[]): string {
  const lines = [
    '| scenario | ours (median, min–max) | baseline | ratio (ours ÷ baseline) | goal | met? |',
    '|---|---|---|---|---|---|',
  ];
  for (const { scenario, unit, ours, baseline, ratio, goal } of rows) {
    const cells = [
      scenario,
      cell(ours, unit),
      baseline ? `${baseline.label}: ${cell(baseline.value, unit)}` : '—',
      ratio ? cell(ratio, '×') : '—',
      goal?.text ?? '—',
      goal ? (goal.met ? 'yes' : '**no**') : '—',
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}
