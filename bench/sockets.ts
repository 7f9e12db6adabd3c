import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Established TCP connections a process holds to a remote port (e.g. 6379),
 * from /proc: the process's socket inodes matched against the kernel's TCP
 * table. Counted at the client, so unlike the server's connected_clients it
 * is not blurred by other sessions sharing the server. Null once the
 * process is gone.
 */
export function tcpConnectionsTo(pid: number, remotePort: number): number | null {
  let inodes: Set<string>;
  try {
    inodes = new Set(
      readdirSync(`/proc/${pid}/fd`)
        .map((fd) => safeReadlink(`/proc/${pid}/fd/${fd}`))
        .map((link) => link?.match(/^socket:\[(\d+)\]$/)?.[1])
        .filter((inode): inode is string => inode !== undefined),
    );
  } catch {
    return null;
  }
  const portHex = remotePort.toString(16).toUpperCase().padStart(4, '0');
  let count = 0;
  for (const file of ['tcp', 'tcp6']) {
    let table: string;
    try {
      table = readFileSync(`/proc/${pid}/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of table.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const established = fields[3] === '01';
      if (established && fields[2].endsWith(`:${portHex}`) && inodes.has(fields[9])) count++;
    }
  }
  return count;
}

function safeReadlink(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null; // the descriptor closed while we looked
  }
}
