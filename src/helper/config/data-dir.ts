import { lstat } from 'node:fs/promises';
import { join } from 'node:path';

// MySQL and MariaDB take every directory in their data directory for a database: the generations
// layout's `..data` shows as `#mysql50#..data` and `mariadb-dump --all-databases` fails on it. The
// Go helper's own MySQL example points cert_dir at /var/lib/mysql, so such a cert_dir gets plain
// files. These entries are what mariadb-install-db and mysqld --initialize leave there.
const MARKERS = [
  { name: 'mysql', directory: true },
  { name: 'ibdata1', directory: false },
  { name: 'aria_log_control', directory: false },
  { name: 'mysql.ibd', directory: false },
  { name: 'mysql_upgrade_info', directory: false },
  { name: 'mariadb_upgrade_info', directory: false },
] as const;

/** The data-directory entries found in `dir` ("mysql/, ibdata1"), or undefined when it holds none. */
export async function databaseDataDirectory(dir: string): Promise<string | undefined> {
  const found: string[] = [];
  for (const marker of MARKERS) {
    const info = await lstat(join(dir, marker.name)).catch(() => undefined);
    if (info !== undefined && info.isDirectory() === marker.directory) found.push(marker.directory ? `${marker.name}/` : marker.name);
  }
  return found.length === 0 ? undefined : found.join(', ');
}
