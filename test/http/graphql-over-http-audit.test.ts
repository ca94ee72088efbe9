import { serverAudits } from 'graphql-http';
import { describe, expect, it } from 'vitest';
import { useApps } from '../helpers/app.js';

/**
 * graphql-http's audit suite for the GraphQL over HTTP specification, against the real server
 * on a port: every MUST passes, with the lean route and with everything through Yoga
 * (GRAPHQL_FAST_PATH=false).
 */

const apps = useApps();

describe("graphql-http's server audits", () => {
  for (const [name, env] of [
    ['with the lean route', {}],
    ['through Yoga alone', { GRAPHQL_FAST_PATH: 'false' }],
  ] as const) {
    it(`every MUST passes, ${name}`, async () => {
      const app = await apps.start(env);
      const audits = serverAudits({ url: `${app.url}/graphql`, fetchFn: fetch });
      const failed: string[] = [];
      for (const audit of audits) {
        if (!audit.name.startsWith('MUST')) continue;
        const result = await audit.fn();
        if (result.status !== 'ok') failed.push(`${audit.name}: ${result.reason}`);
      }
      expect(audits.filter((audit) => audit.name.startsWith('MUST')).length).toBeGreaterThan(10);
      expect(failed).toEqual([]);
    });
  }
});
