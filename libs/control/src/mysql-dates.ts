/** mysql2 returns DATETIME as 'YYYY-MM-DD HH:MM:SS.ffffff' (dateStrings, UTC session: see openMysql). */
export function parseUtc(value: string | null): Date | null {
  return value ? new Date(value.replace(' ', 'T') + 'Z') : null;
}
