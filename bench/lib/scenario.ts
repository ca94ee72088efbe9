import type { Row } from './report.js';
import type { Settings } from './settings.js';

export interface ScenarioContext {
  settings: Settings;
  /** A fresh directory for this scenario's databases and logs, removed after the run. */
  dir: string;
  /** Progress for the terminal (stderr), not for the results. */
  log(message: string): void;
}

export interface ScenarioResult {
  rows: Row[];
  /** What the reader needs to interpret the rows: methods, reduced sizes, anomalies. */
  notes: string[];
  /** Raw per-round numbers, kept in the results file. */
  details: Record<string, unknown>;
}

/** One numbered scenario of the issue. */
export interface Scenario {
  /** Selects it on the command line, e.g. `read`. */
  name: string;
  title: string;
  run(context: ScenarioContext): Promise<ScenarioResult>;
}
