// A page that only says what went wrong (refused action, unknown approval), with a way back.

import { html } from '../html.js';
import { layout, type Frame } from './layout.js';

export function messagePage(frame: Frame, heading: string, text: string, back = '/console/'): string {
  return layout(frame, html`<h1>${heading}</h1><p class="notice error" role="alert">${text}</p><p><a href="${back}">Back</a></p>`);
}
