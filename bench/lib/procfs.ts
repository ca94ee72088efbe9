import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time a process has used so far, over all its live threads, in nanoseconds
 * (`/proc/<pid>/task/<tid>/schedstat`, first field: ns on a CPU). Reading it costs the
 * measured process nothing, unlike scraping its /metrics.
 */
export function cpuTimeNs(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between listing and reading
    }
  }
  return total;
}

/** Resident set size of a process, in bytes (`VmRSS` in `/proc/<pid>/status`). */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** Open file descriptors of a process (entries of `/proc/<pid>/fd`): sockets, files, pipes, epoll and event fds. */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/**
 * How much of the last 10 s some runnable task on the machine waited for a CPU, in %
 * (`/proc/pressure/cpu`, "some avg10"); NaN where the kernel has no pressure stall information.
 */
export function cpuPressurePercent(): number {
  try {
    const match = /^some avg10=([\d.]+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return match ? Number(match[1]) : NaN;
  } catch {
    return NaN;
  }
}

/**
 * Connections the kernel dropped so far, machine-wide, because a listening socket's accept
 * queue was full (`ListenOverflows` in `/proc/net/netstat`); NaN where it is not shown.
 */
export function listenOverflows(): number {
  try {
    const [names, values] = readFileSync('/proc/net/netstat', 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('TcpExt:'))
      .map((line) => line.split(/\s+/));
    const index = names?.indexOf('ListenOverflows') ?? -1;
    return index > 0 && values ? Number(values[index]) : NaN;
  } catch {
    return NaN;
  }
}

export interface CpuUse<T> {
  result: T;
  /** CPU time the process used while `work` ran, in ns. */
  cpuNs: number;
  /** Wall time `work` took, in ms. */
  wallMs: number;
}

/** Runs `work` and reports how much CPU process `pid` used meanwhile. */
export async function measureCpu<T>(pid: number, work: () => Promise<T>): Promise<CpuUse<T>> {
  const cpuBefore = cpuTimeNs(pid);
  const wallBefore = performance.now();
  const result = await work();
  return { result, cpuNs: cpuTimeNs(pid) - cpuBefore, wallMs: performance.now() - wallBefore };
}

/** Share of one core a process used over `wallMs`, in percent. */
export function percentOfCore(cpuNs: number, wallMs: number): number {
  return (cpuNs / 1e6 / wallMs) * 100;
}

/** Runs `work` and reports how much CPU `read` (a cumulative CPU time in ns, e.g. of several processes) grew meanwhile. */
export async function measureCpuWith<T>(read: () => number, work: () => Promise<T>): Promise<CpuUse<T>> {
  const cpuBefore = read();
  const wallBefore = performance.now();
  const result = await work();
  return { result, cpuNs: read() - cpuBefore, wallMs: performance.now() - wallBefore };
}
