import { escapeHtml, loginPage, safeNextPath } from './login-page';

describe('login page', () => {
  it('only redirects to paths on this server', () => {
    expect(safeNextPath('/docs')).toBe('/docs');
    expect(safeNextPath('/queues/queue/route-a?x=1')).toBe('/queues/queue/route-a?x=1');
    for (const bad of ['//evil.example', '/\\evil.example', 'https://evil.example', 'docs', '', undefined, 5, '/a b', '/a\nb']) {
      expect(safeNextPath(bad)).toBe('/status/');
    }
  });

  it('escapes what it echoes', () => {
    expect(escapeHtml(`"><script>'&`)).toBe('&#34;&#62;&#60;script&#62;&#39;&#38;');
    expect(loginPage({ next: '/"x', error: '<b>' })).not.toMatch(/"x"|<b>/);
  });
});
