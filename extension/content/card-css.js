// The card's stylesheet (inside its shadow root, so the page's CSS and ours never meet).
//
// Shared classes the person panel may use too: .section, .section-title, .btn, .btn-primary,
// .btn-link, .badge (.ok .info .warn .bad .muted), .muted, .fields (a <dl>), .notice (.warn .bad),
// .input, .sr-only.

export const CARD_CSS = `
:host { all: initial; }
/* "all: initial" also undoes the browser's own [hidden] rule, so say it again for the host. */
:host([hidden]) { display: none !important; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
.card {
  --ink: #1f2a37; --muted: #5b6675; --line: #dde2e8; --bg: #ffffff; --soft: #f5f7f9;
  --accent: #1c5d99; --accent-ink: #ffffff; --ok: #1e7b4f; --ok-bg: #e5f4ec; --info: #1c5d99;
  --info-bg: #e6eff8; --warn: #8a5a00; --warn-bg: #fff4d9; --bad: #a12a2a; --bad-bg: #fbe9e9;
  font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); background: var(--bg); width: 340px; max-height: calc(100vh - 96px);
  display: flex; flex-direction: column; border: 1px solid var(--line); border-radius: 10px;
  box-shadow: 0 8px 28px rgba(16, 24, 40, .16), 0 1px 3px rgba(16, 24, 40, .08); overflow: hidden;
}
.header {
  display: flex; align-items: center; gap: 8px; padding: 8px 8px 8px 12px; background: #24364b; color: #fff;
}
.logo {
  width: 22px; height: 22px; border-radius: 5px; background: #f0b429; color: #24364b; font-weight: 800;
  display: grid; place-items: center; font-size: 12px; flex: none;
}
.title { font-weight: 600; font-size: 13px; flex: 1; min-width: 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.dot { width: 8px; height: 8px; border-radius: 50%; background: #9aa5b1; flex: none; }
.dot[data-tone="ok"] { background: #3ccf7e; } .dot[data-tone="warn"] { background: #f0b429; } .dot[data-tone="bad"] { background: #ef5350; }
.icon-btn {
  all: unset; cursor: pointer; width: 26px; height: 26px; border-radius: 6px; display: grid; place-items: center;
  color: #fff; font-size: 14px; line-height: 1;
}
.icon-btn:hover { background: rgba(255, 255, 255, .14); }
.icon-btn:focus-visible, .btn:focus-visible, .input:focus-visible, .option:focus-visible, .btn-link:focus-visible {
  outline: 2px solid #f0b429; outline-offset: 2px;
}
.body { overflow: auto; }
.card[data-collapsed="true"] .body { display: none; }
.section { padding: 12px; border-top: 1px solid var(--line); }
.section:first-child { border-top: 0; }
.section-title { margin: 0 0 6px; font-size: 11px; font-weight: 700; letter-spacing: .06em; text-transform: uppercase; color: var(--muted); }
.company-name { margin: 0; font-size: 15px; font-weight: 650; line-height: 1.3; word-break: break-word; }
.row { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
.badge { display: inline-flex; align-items: center; gap: 4px; padding: 1px 8px; border-radius: 999px; font-size: 11px; font-weight: 600; white-space: nowrap; }
.badge.ok { color: var(--ok); background: var(--ok-bg); } .badge.info { color: var(--info); background: var(--info-bg); }
.badge.warn { color: var(--warn); background: var(--warn-bg); } .badge.bad { color: var(--bad); background: var(--bad-bg); }
.badge.muted { color: var(--muted); background: var(--soft); }
.muted { color: var(--muted); }
.small { font-size: 12px; }
.reason { margin: 4px 0 0; color: var(--muted); font-size: 12px; }
.team-line { font-size: 11px; } .team-line.warn { color: var(--warn); }
.fields { display: grid; grid-template-columns: minmax(80px, auto) 1fr; gap: 3px 10px; margin: 10px 0 0; }
.fields dt { color: var(--muted); } .fields dd { margin: 0; word-break: break-word; }
.notice { margin: 8px 0 0; padding: 8px 10px; border-radius: 8px; font-size: 12px; }
.notice.warn { background: var(--warn-bg); color: #5c3d00; } .notice.bad { background: var(--bad-bg); color: #6e1c1c; }
.notice.info { background: var(--info-bg); color: #173f66; }
.notice ul { margin: 4px 0 0; padding-left: 16px; } .notice li { margin: 2px 0; }
.notice strong { display: block; margin-bottom: 2px; }
.fix { display: block; margin-top: 6px; padding: 6px 8px; border-radius: 6px; background: rgba(0, 0, 0, .06);
  font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; user-select: all; }
.actions { display: flex; gap: 8px; margin-top: 10px; flex-wrap: wrap; }
.btn {
  all: unset; box-sizing: border-box; cursor: pointer; padding: 5px 12px; border-radius: 6px; border: 1px solid var(--line);
  background: #fff; color: var(--ink); font: 600 12px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
}
.btn:hover { background: var(--soft); }
.btn-primary { background: var(--accent); border-color: var(--accent); color: var(--accent-ink); }
.btn-primary:hover { background: #164c7e; }
.btn[disabled] { opacity: .55; cursor: default; }
.btn-link { all: unset; cursor: pointer; color: var(--accent); font-size: 12px; font-weight: 600; }
.btn-link:hover { text-decoration: underline; }
.input {
  width: 100%; padding: 6px 8px; border: 1px solid #b8c1cc; border-radius: 6px; font: 13px system-ui, sans-serif;
  color: var(--ink); background: #fff;
}
.picker { margin-top: 10px; }
.options { list-style: none; margin: 6px 0 0; padding: 0; border: 1px solid var(--line); border-radius: 6px; max-height: 200px; overflow: auto; }
.options:empty { display: none; }
.option { padding: 6px 8px; cursor: pointer; border-top: 1px solid var(--line); }
.option:first-child { border-top: 0; }
.option[aria-selected="true"], .option:hover { background: var(--info-bg); }
.option .detail { display: block; color: var(--muted); font-size: 11px; }
.footer { padding: 6px 12px; font-size: 11px; border-top: 1px solid var(--line); background: var(--soft); }
.footer.warn { color: var(--warn); background: var(--warn-bg); } .footer.bad { color: var(--bad); background: var(--bad-bg); }
.skeleton { height: 12px; border-radius: 4px; background: linear-gradient(90deg, #eef1f4, #f7f9fa, #eef1f4); margin: 6px 0; }
.skeleton.wide { width: 80%; } .skeleton.narrow { width: 45%; }
.person-line { margin: 0; font-size: 12px; color: var(--muted); }
.person-line strong { color: var(--ink); }
.sr-only { position: absolute; width: 1px; height: 1px; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;
