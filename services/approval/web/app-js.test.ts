import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { APP_JS } from './app-js.js';
import { PAGE_HTML } from './page-html.js';

describe('reviewer page assets', () => {
  it('the script compiles as plain JavaScript (no build step)', () => {
    expect(() => new Script(APP_JS, { filename: 'app.js' })).not.toThrow();
  });

  it('never hands data to an HTML parser', () => {
    expect(APP_JS).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
    expect(APP_JS).toContain('textContent');
  });

  it('keeps the token in sessionStorage and sends it only as a header', () => {
    expect(APP_JS).not.toMatch(/localStorage|document\.cookie|[?&]token=/);
    expect(APP_JS).toContain("h['authorization'] = 'Bearer ' + token()");
    // A session cookie is HttpOnly: the script only asks who it is, and sends no credentials with a token.
    expect(APP_JS).toContain("fetch('/auth/me'");
    expect(APP_JS).toContain("return token() ? 'omit' : 'same-origin'");
  });

  it('the page has no inline script or style (the CSP forbids them)', () => {
    expect(PAGE_HTML).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect(PAGE_HTML).not.toMatch(/\bstyle=|<style/);
    expect(PAGE_HTML).not.toMatch(/\bon[a-z]+=/);
  });
});
