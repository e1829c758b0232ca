// Runs before `npm start`, `npm test` and `npm run bench`: installs the locked dependencies
// when they are missing or older than the lockfile, and checks for Java (DynamoDB Local needs
// it), so that a fresh clone needs no step by hand.
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const marker = 'node_modules/.package-lock.json';
if (!existsSync(marker) || statSync('package-lock.json').mtimeMs > statSync(marker).mtimeMs) {
  console.error('Installing dependencies (npm ci) ...');
  execSync('npm ci --no-audit --no-fund', { stdio: 'inherit' });
}

const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
const version = /version "(\d+)/.exec(`${java.stderr}${java.stdout}`)?.[1];
if (java.error || !version || Number(version) < 17) {
  console.error(
    'DynamoDB Local needs Java 17 or newer on the PATH (Debian: apt-get install openjdk-17-jre-headless).',
  );
  process.exit(1);
}
