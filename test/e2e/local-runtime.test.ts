import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alive } from '../../infra/local/assembly.ts';
import { ON_FREE_PORTS, spawnGateway } from '../support/gateway-process.ts';
import { client, onboard, waitFor } from '../support/http.ts';

/** Every process below `pid`, with its command line. */
function descendants(pid: number): { pid: number; cmd: string }[] {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l)!)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), cmd: m[3]! }));
  const found: { pid: number; cmd: string }[] = [];
  const walk = (p: number) => {
    for (const r of rows.filter((row) => row.ppid === p)) {
      found.push(r);
      walk(r.pid);
    }
  };
  walk(pid);
  return found;
}

const embedded = ['--in-memory', ...ON_FREE_PORTS];

describe('the local runtime (npm start)', () => {
  it.each(['SIGINT', 'SIGKILL'] as const)(
    'leaves no java process behind after %s',
    async (signal) => {
      const gateway = await spawnGateway(embedded);
      const res = await fetch(`${gateway.url}/openapi.json`);
      expect(res.status).toBe(200);
      const java = descendants(gateway.child.pid!).find((p) => /^java /.test(p.cmd));
      expect(java, 'DynamoDB Local runs as a child').toBeDefined();
      const exited = new Promise((r) => gateway.child.once('exit', r));
      gateway.child.kill(signal);
      await exited;
      await waitFor(
        async () => (alive(java!.pid) ? undefined : true),
        `java (pid ${java!.pid}) to stop`,
        15_000,
      );
    },
    90_000,
  );
});

/** Runs `npm start -- ARGS` without --ready-json, as a developer does, until `until` is printed or it exits. */
function runMain(args: string[], until?: RegExp) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'infra/local/main.ts', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  let stdout = '';
  let stderr = '';
  return new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`npm start did not finish:\n${stdout}\n${stderr}`));
    }, 80_000);
    const done = (code: number | null) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    };
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (until?.test(stdout)) {
        child.once('exit', () => done(null));
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('exit', (code) => done(code));
  });
}

describe('npm start flags', () => {
  it('answers an unknown flag with the usage and exit code 2, not a stack trace', async () => {
    const out = await runMain(['--no-such-flag']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("Unknown option '--no-such-flag'");
    expect(out.stderr).toContain('Usage: npm start -- [options]');
    expect(out.stderr).not.toMatch(/\n\s+at /);
  });

  it('lists in --help exactly the flags the README lists', async () => {
    const help = (await runMain(['--help'])).stdout;
    const flags = (text: string) => [...text.matchAll(/^\s+(?:-h, )?(--[a-z-]+)/gm)].map((m) => m[1]).sort();
    const readme = readFileSync('README.md', 'utf8');
    const block = /```\nnpm start -- --help\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    expect(flags(help)).toContain('--allow-loopback-webhooks');
    expect(flags(help)).toContain('--visibility-timeout');
    expect(flags(help)).toContain('--max-receive-count');
    expect(flags(help)).toContain('--authorizer-cache-seconds');
    expect(flags(block)).toEqual(flags(help));
  });

  it('prints the admin token of an in-memory run, and a restart hint that issues a test key', async () => {
    const out = await runMain(['--in-memory', '--no-demo', ...ON_FREE_PORTS], /Press Ctrl-C to stop/);
    expect(out.stdout).toMatch(/export SMS_ADMIN_TOKEN=\S{20,}/);
    const hint = /npm run admin -- keys create [^\n]*/.exec(out.stdout)?.[0];
    expect(hint).toContain('--mode test');
  }, 90_000);

  it('lets webhooks reach this machine with --allow-loopback-webhooks, and not without', async () => {
    for (const allowed of [true, false]) {
      const gateway = await spawnGateway([...embedded, ...(allowed ? ['--allow-loopback-webhooks'] : [])]);
      try {
        const api = client(gateway.url);
        const t = await onboard(api, gateway.adminToken, { name: 'Local', scopes: ['admin'], senders: [] });
        const res = await api.call('POST', '/v1/webhooks', {
          key: t.key,
          body: { url: 'http://127.0.0.1:9999/hook', events: ['message.status'] },
        });
        expect(res.status, `with${allowed ? '' : 'out'} the flag`).toBe(allowed ? 201 : 422);
      } finally {
        const exited = new Promise((r) => gateway.child.once('exit', r));
        gateway.child.kill('SIGINT');
        await exited;
      }
    }
  }, 120_000);
});
