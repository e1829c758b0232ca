// Runs before `npm start`, `npm test` and `npm run bench`: installs the locked dependencies
// when they are missing or older than the lockfile, and makes sure Java 17+ is there
// (DynamoDB Local needs it), installing it from Debian's packages when running as root, so
// that a fresh clone needs no step by hand.
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const marker = 'node_modules/.package-lock.json';
if (!existsSync(marker) || statSync('package-lock.json').mtimeMs > statSync(marker).mtimeMs) {
  console.error('Installing dependencies (npm ci) ...');
  execSync('npm ci --no-audit --no-fund', { stdio: 'inherit' });
}

function javaMajor() {
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (java.error) return 0;
  return Number(/version "(\d+)/.exec(`${java.stderr}${java.stdout}`)?.[1] ?? 0);
}

if (javaMajor() < 17) {
  const canApt = process.getuid?.() === 0 && spawnSync('apt-get', ['--version']).status === 0;
  if (canApt) {
    console.error('DynamoDB Local needs Java 17+: installing openjdk-17-jre-headless ...');
    execSync(
      'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless',
      {
        stdio: 'inherit',
      },
    );
  }
  if (javaMajor() < 17) {
    console.error(
      'DynamoDB Local needs Java 17 or newer on the PATH (Debian: apt-get install openjdk-17-jre-headless).',
    );
    process.exit(1);
  }
}
