/** `a`, `a or b`, `a, b or c` (and `other` for none): choices named in a message. */
export function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? 'other') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}
