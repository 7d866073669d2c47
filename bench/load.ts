/** Open-loop load generation helpers: fixed arrival rate, latency from the scheduled time. */
import http from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';

export const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });

/**
 * A cheap sender for the measured load: a fixed pool of keep-alive connections and bodies that are
 * serialised before the clock starts, so that the generator's own CPU stays small on a shared machine.
 */
export class LeanPoster {
  private readonly agent: http.Agent;
  private readonly host: string;
  private readonly port: string;

  constructor(
    baseUrl: string,
    connections: number,
    private readonly headers: Record<string, string>,
  ) {
    const u = new URL(baseUrl);
    this.host = u.hostname;
    this.port = u.port;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  }

  /** POSTs a pre-serialised JSON body; resolves with the status and the body text. */
  post(path: string, body: Buffer): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.host,
          port: this.port,
          path,
          method: 'POST',
          agent: this.agent,
          headers: { ...this.headers, 'content-type': 'application/json', 'content-length': body.length },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Processes whose command line matches, e.g. every PostgreSQL backend of one database. */
export function pidsMatching(pattern: RegExp): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((pid) => {
      try {
        return pattern.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '));
      } catch {
        return false;
      }
    });
}

/**
 * CPU seconds each named group of processes spends while `work` runs. The groups are looked up at
 * the start and again at the end: a process started meanwhile (a new pool connection's backend)
 * counts from zero.
 */
export async function cpuDuring<T>(parts: Record<string, () => number[]>, work: () => Promise<T>): Promise<{ result: T; cpu: Record<string, number> }> {
  const start = Object.fromEntries(Object.entries(parts).map(([k, find]) => [k, new Map(find().map((pid) => [pid, cpuSeconds(pid)]))]));
  const result = await work();
  const cpu = Object.fromEntries(
    Object.entries(parts).map(([k, find]) => {
      const pids = new Set([...start[k].keys(), ...find()]);
      return [k, [...pids].reduce((n, pid) => n + Math.max(0, cpuSeconds(pid) - (start[k].get(pid) ?? 0)), 0)];
    }),
  );
  return { result, cpu };
}

/** The machine's 1/5/15-minute load averages, to print with every figure (the machine is shared). */
export const loadAverages = () =>
  os
    .loadavg()
    .map((n) => n.toFixed(1))
    .join(' / ');

export function post(url: string, body: unknown, token?: string): Promise<{ status: number; body: string }> {
  const data = JSON.stringify(body);
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export interface StepResult {
  rate: number;
  seconds: number;
  sent: number;
  accepted: number;
  errors: number;
  acceptedPerSecond: number;
  p50: number;
  p99: number;
}

/**
 * Sends `rate` requests per second for `seconds`, on a 5 ms tick, without waiting for answers
 * (open loop). Latency counts from the moment each request was due, so a slow server cannot
 * hide queueing (no coordinated omission).
 */
export async function openLoop(rate: number, seconds: number, fire: (i: number) => Promise<boolean>): Promise<StepResult> {
  const latencies: number[] = [];
  let sent = 0;
  let accepted = 0;
  let errors = 0;
  const start = performance.now();
  const total = rate * seconds;
  const inflight: Promise<void>[] = [];
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      while (sent < due) {
        const i = sent++;
        const dueAt = start + (i / rate) * 1000;
        inflight.push(
          fire(i).then(
            (ok) => {
              if (ok) {
                accepted++;
                latencies.push(performance.now() - dueAt);
              } else errors++;
            },
            () => void errors++,
          ),
        );
      }
      if (sent >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 5);
  });
  await Promise.all(inflight);
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { rate, seconds, sent, accepted, errors, acceptedPerSecond: accepted / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

export const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
