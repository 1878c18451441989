// The console's style sheet, served as /console/assets/console.css (see script.ts for why text).

export const CONSOLE_CSS = `:root {
  --fg: #1d2430; --muted: #5b6573; --bg: #f6f7f9; --card: #fff; --line: #dde1e7;
  --allow: #1f7a3d; --deny: #b42318; --step: #b54708; --info: #175cd3; --radius: 8px;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg);
}
body { margin: 0; }
header { display: flex; align-items: center; gap: 1rem; padding: .75rem 1.5rem; background: #101828; color: #fff; }
header a { color: #fff; text-decoration: none; font-weight: 600; }
header .who { margin-left: auto; color: #d0d5dd; }
header form { margin: 0; }
main { max-width: 980px; margin: 1.5rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.35rem; margin: 0 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.75rem 0 .75rem; }
.card > h2:first-child { margin-top: 0; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: var(--radius); padding: 1rem 1.25rem; margin-bottom: .75rem; }
.call { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .95rem; word-break: break-all; }
.method { font-weight: 700; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; margin: .75rem 0 0; }
dt { color: var(--muted); }
dd { margin: 0; word-break: break-word; }
pre { background: #f2f4f7; border-radius: 6px; padding: .6rem .75rem; overflow-x: auto; margin: 0; font-size: .9rem; }
.badge { display: inline-block; border-radius: 999px; padding: .05rem .6rem; font-size: .8rem; font-weight: 600; color: #fff; background: var(--muted); }
.badge.pending, .badge.step_up { background: var(--step); }
.badge.approved, .badge.allow, .badge.used { background: var(--allow); }
.badge.denied, .badge.deny, .badge.error, .badge.cancelled { background: var(--deny); }
.badge.expired, .badge.client_abort, .badge.dry_run { background: var(--muted); }
.actions { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; margin-top: 1rem; }
.actions form { display: flex; flex-direction: column; gap: .5rem; }
label { font-weight: 600; }
input[type=text], input[type=password], textarea { font: inherit; padding: .45rem .6rem; border: 1px solid var(--line); border-radius: 6px; }
button { font: inherit; font-weight: 600; padding: .5rem 1rem; border-radius: 6px; border: 0; cursor: pointer; color: #fff; background: var(--info); }
button.approve { background: var(--allow); }
button.deny { background: var(--deny); }
button.link { background: none; color: #fff; padding: 0; text-decoration: underline; }
button:disabled { opacity: .6; cursor: default; }
.notice { border-left: 4px solid var(--info); background: #eff8ff; padding: .6rem .9rem; border-radius: 4px; margin-bottom: 1rem; }
.notice.error { border-color: var(--deny); background: #fef3f2; }
.muted { color: var(--muted); }
ol.timeline { list-style: none; padding: 0; margin: 0; border-left: 3px solid var(--line); }
ol.timeline li { position: relative; padding: .35rem 0 .35rem 1.1rem; }
ol.timeline li::before { content: ""; position: absolute; left: -8px; top: .75rem; width: 13px; height: 13px; border-radius: 50%; background: var(--muted); }
ol.timeline li.allow::before { background: var(--allow); }
ol.timeline li.deny::before, ol.timeline li.error::before { background: var(--deny); }
ol.timeline li.step_up::before { background: var(--step); }
ol.timeline li.approval::before { background: var(--info); border-radius: 2px; }
ol.timeline li.task::before { background: #101828; }
ol.timeline .what { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .88rem; word-break: break-all; }
.signin { max-width: 420px; margin: 4rem auto; }
.signin form { display: flex; flex-direction: column; gap: .6rem; }
a { color: var(--info); }
`;
