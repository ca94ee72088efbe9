/** A load process's commands: each takes the arguments the orchestrator sent and returns a result. */
export type Handlers = Record<string, (args: any) => unknown>;

/**
 * The child side of `forkLoad`: answers `{ id, command, args }` messages with
 * `{ id, result }` or `{ id, error }`, says it is ready, and exits when the orchestrator
 * goes away (its IPC channel closes), so no load process outlives a run.
 */
export function serveCommands(handlers: Handlers): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('a load process must be forked with an IPC channel (see bench/lib/processes.ts)');
  process.on('message', async ({ id, command, args }: { id: number; command: string; args: unknown }) => {
    try {
      const handler = handlers[command];
      if (!handler) throw new Error(`unknown command ${command}`);
      send({ id, result: await handler(args) });
    } catch (error) {
      send({ id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ ready: true });
}
