import { describe, expect, it } from 'vitest';
import { escapeHtml, html } from '../../../src/console/html.js';

describe('html', () => {
  it('escapes every interpolated value, in text and in attributes', () => {
    const evil = `<script>alert("x")</script>' onload='y`;
    expect(html`<p title="${evil}">${evil}</p>`.text).toBe(`<p title="${escapeHtml(evil)}">${escapeHtml(evil)}</p>`);
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });

  it('keeps fragments built with html, joins lists, drops absent values', () => {
    const items = ['<a>', '<b>'].map((v) => html`<li>${v}</li>`);
    expect(html`<ul>${items}</ul>${undefined}${null}${false}${0}`.text).toBe('<ul><li>&lt;a&gt;</li><li>&lt;b&gt;</li></ul>0');
  });
});
