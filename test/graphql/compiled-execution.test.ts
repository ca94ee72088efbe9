import { afterEach, describe, expect, it } from 'vitest';
import { useApp } from '../helpers/app.js';

const t = useApp();

/** graphql-jit's marker for a Date in an argument literal: its generated code turns `"<marker><text>"` into `new Date(<text>)`. */
const JIT_DATE_MARKER = '__MAGIC_DATE__33a9e76d_02e0_4128_8e92_3530ad3da74d';

declare global {
  var compiledExecutionProbe: number | undefined;
}

describe('compiled execution', () => {
  afterEach(() => {
    delete globalThis.compiledExecutionProbe;
  });

  it('runs no code from a string literal, whatever it looks like to the compiler', async () => {
    const payload = `${JIT_DATE_MARKER}globalThis.compiledExecutionProbe=1`;
    const read = await t.gql(`{ task(id: ${JSON.stringify(payload)}) { id } }`);
    expect(read).toEqual({ status: 200, data: { task: null } });
    const created = await t.gql(`mutation { createTask(kind: "k", input: { note: ${JSON.stringify(payload)} }) { input } }`);
    expect(created.errors).toBeUndefined();
    expect(created.data.createTask.input).toEqual({ note: payload });
    expect(globalThis.compiledExecutionProbe).toBeUndefined();
  });

  it('keeps the variables inside a JSON literal', async () => {
    const { data, errors } = await t.gql('mutation($s: String!, $n: Int) { createTask(kind: "k", input: { s: $s, list: [$n, 2], deep: { s: $s } }) { input } }', {
      s: 'sent',
      n: 1,
    });
    expect(errors).toBeUndefined();
    expect(data.createTask.input).toEqual({ s: 'sent', list: [1, 2], deep: { s: 'sent' } });
  });

  it('keeps a JSON literal key named __proto__ as a key', async () => {
    const { data, errors } = await t.gql('mutation { createTask(kind: "k", input: { __proto__: { x: 1 }, y: 2 }) { id } }');
    expect(errors).toBeUndefined();
    const raw = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ task(id: ${JSON.stringify(data.createTask.id)}) { input } }` }),
    });
    expect(await raw.text()).toBe('{"data":{"task":{"input":{"__proto__":{"x":1},"y":2}}}}');
  });
});
