/**
 * Masks credentials inside free text (error messages, stacks) before it is
 * logged: passwords in URLs and Authorization values (invariant 10).
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]*@/gi, '$1***@')
    .replace(/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 ***');
}
