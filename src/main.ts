import { createApp, GRAPHQL_PATH } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { startDemo } from './demo.js';
import { isLoopbackHost } from './http/origins.js';
import { createLogger, describeDatabaseUrl } from './log.js';

const config = loadConfigOrExit();
const log = createLogger(config.logLevel);

if (config.apiKeys.length === 0) {
  if (!isLoopbackHost(config.host) && !config.allowOpenOnNetwork) {
    log.fatal({ host: config.host }, 'no API keys are configured; refusing to serve open on a non-loopback address (set API_KEYS, or AUTH=none to allow it)');
    process.exit(1);
  }
  log.warn('no API keys are configured: the server runs open, as one tenant');
}
if (config.metricsToken === null && !isLoopbackHost(config.host)) {
  log.warn({ host: config.host }, '/metrics is refused on a non-loopback address without METRICS_TOKEN');
}

const app = await createApp(config, { log });
const demo = new AbortController();
app.server.listen(config.port, config.host, () => {
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host}:${port}${GRAPHQL_PATH}`;
  log.info({ url, database: describeDatabaseUrl(config.databaseUrl) }, 'task status API listening');
  if (config.demo) {
    log.info({ seed: config.demoSeed }, 'demo mode: DEMO_SEED repeats this run');
    const apiKey = config.apiKeys.find((key) => key.role !== 'client')?.key;
    void startDemo({ url, apiKey, signal: demo.signal, log: (message) => log.info(message), seed: config.demoSeed, stepMs: config.demoStepMs }).catch((error: unknown) =>
      log.error({ err: error }, 'demo worker stopped'),
    );
  }
});

/** npm and tsx relay a terminal's signal that the process also gets: one within this window is the same one. */
const RELAYED_SIGNAL_WINDOW_MS = 1_000;
let stoppingSince: number | null = null;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stoppingSince !== null) {
      if (Date.now() - stoppingSince < RELAYED_SIGNAL_WINDOW_MS) return;
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stoppingSince = Date.now();
    demo.abort();
    log.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}

function loadConfigOrExit() {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    createLogger('info').fatal(error.message);
    process.exit(1);
  }
}
