import { forbidden } from './errors.js';
import type { Task } from './task.js';

export type Role = 'client' | 'worker' | 'admin';

/** Who is calling: every service call is made on behalf of one. */
export interface Principal {
  tenant: string;
  role: Role;
  /** Which configured API key the caller used: a label of its own (never the key), for per-key limits. None in open mode. */
  keyId?: string;
}

/** A configured API key and the principal it stands for. */
export interface ApiKey extends Principal {
  key: string;
}

/** The principal of a server that runs without API keys: one tenant, every right. */
export const OPEN_PRINCIPAL: Principal = Object.freeze({ tenant: 'default', role: 'admin' });

/** A task of another tenant is invisible: callers cannot tell it from an unknown id. */
export const canSee = (principal: Principal, task: Pick<Task, 'tenant'>): boolean =>
  principal.role === 'admin' || principal.tenant === task.tenant;

/** Worker writes (claim, heartbeat, progress, complete, fail) need the worker or admin role. */
export function assertWorker(principal: Principal): void {
  if (principal.role === 'client') throw forbidden('This key has the client role; worker writes need a worker key.');
}
