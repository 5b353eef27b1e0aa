// The real programs users wrap, each on loopback with its files in a temp dir: a function that
// prepares one and says how to run it (for the helper's `cmd`), and a start function that runs it as
// the test's child, stopped by pid. See nginx.ts, postgres.ts and mariadb.ts.
import { existsSync, readdirSync } from 'node:fs';
import { NGINX } from './nginx.ts';
import { MARIADBD } from './mariadb.ts';
import { HAPROXY } from './haproxy.ts';
import { JAVA } from './java.ts';

export type { Program } from './daemon.ts';
export type { TlsFiles } from './tls.ts';
export { nginx, startNginx, type NginxProgram, type NginxServer } from './nginx.ts';
export { postgres, postgresUser, psqlSsl, startPostgres, type PostgresProgram, type PostgresServer } from './postgres.ts';
export { mariadb, mariadbSsl, startMariadb, MARIADB_TLS_USER, type MariadbProgram, type MariadbServer } from './mariadb.ts';
export { haproxy, type HaproxyProgram } from './haproxy.ts';
export { javaTlsServer } from './java.ts';

function postgresInstalled(): boolean {
  try {
    return readdirSync('/usr/lib/postgresql').some((version) => existsSync(`/usr/lib/postgresql/${version}/bin/initdb`));
  } catch {
    return false;
  }
}

/**
 * Why a server's tests cannot run here, or undefined when they can: pass it as `skip`. In CI
 * (CI=true) a missing server is an error instead (scripts/test-deps.sh installs them).
 */
export function serverUnavailable(server: 'nginx' | 'postgres' | 'mariadb' | 'haproxy' | 'java'): string | undefined {
  const present = {
    nginx: () => existsSync(NGINX),
    postgres: postgresInstalled,
    mariadb: () => existsSync(MARIADBD),
    haproxy: () => existsSync(HAPROXY),
    // `java Server.java` compiles in memory: it needs a JDK, not only a JRE.
    java: () => existsSync(JAVA) && existsSync('/usr/bin/javac'),
  }[server]();
  if (present) return undefined;
  const why = `${server} is not installed (scripts/test-deps.sh installs it as root with apt-get)`;
  if (process.env.CI === 'true') throw new Error(why);
  process.stderr.write(`\n*** SKIPPING ${server} tests: ${why} ***\n\n`);
  return why;
}
