// The person panel's stylesheet, scoped by the card's shadow root (nothing leaks into the page).

export const PANEL_CSS = `
.cc-panel { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2933; }
.cc-panel section { border-top: 1px solid #e4e7eb; padding: 10px 0 4px; }
.cc-panel h3 { margin: 0 0 6px; font-size: 11px; font-weight: 600; letter-spacing: .04em;
  text-transform: uppercase; color: #616e7c; }
.cc-known { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; margin-bottom: 6px; }
.cc-badge { display: inline-block; border-radius: 10px; padding: 1px 8px; font-size: 12px; font-weight: 600; }
.cc-badge.cc-in { background: #e3f8e8; color: #17663a; }
.cc-badge.cc-out { background: #f0f4f8; color: #52606d; }
.cc-sync-as { display: flex; gap: 4px; margin-bottom: 8px; }
.cc-sync-as button { flex: 1; }
.cc-sync-as button[aria-pressed="true"] { background: #243b53; color: #fff; border-color: #243b53; }
.cc-row { display: grid; grid-template-columns: minmax(0, 38fr) minmax(0, 62fr); align-items: start; gap: 2px 6px; margin: 4px 0; }
.cc-label { padding-top: 4px; color: #3e4c59; overflow-wrap: anywhere; }
.cc-required { color: #ba2525; font-weight: 700; }
.cc-row input[type=text], .cc-row input[type=date], .cc-row select, .cc-row textarea {
  box-sizing: border-box; width: 100%; font: inherit; padding: 3px 6px; border: 1px solid #cbd2d9;
  border-radius: 4px; background: #fff; color: inherit; }
.cc-row textarea { resize: vertical; }
.cc-row input:focus, .cc-row select:focus, .cc-row textarea:focus, .cc-panel button:focus-visible {
  outline: 2px solid #2680c2; outline-offset: 1px; }
.cc-choices { display: flex; flex-wrap: wrap; gap: 2px 10px; padding-top: 3px; }
.cc-hint { grid-column: 2; color: #616e7c; font-size: 12px; }
.cc-error { grid-column: 2; color: #ba2525; font-size: 12px; min-height: 0; }
.cc-error:empty { display: none; }
.cc-invalid input, .cc-invalid select, .cc-invalid textarea { border-color: #ba2525; }
.cc-panel button { font: inherit; padding: 4px 10px; border: 1px solid #9aa5b1; border-radius: 4px;
  background: #fff; color: #243b53; cursor: pointer; }
.cc-panel button:hover { background: #f0f4f8; }
.cc-panel button:disabled { opacity: .5; cursor: default; }
.cc-panel button.cc-primary { background: #2680c2; border-color: #2680c2; color: #fff; font-weight: 600; }
.cc-panel button.cc-primary:hover { background: #186faf; }
.cc-panel button.cc-link { border: 0; padding: 0; background: none; color: #2680c2; text-decoration: underline; }
.cc-actions { display: flex; gap: 6px; align-items: center; margin: 8px 0 4px; flex-wrap: wrap; }
.cc-message { font-size: 12px; color: #52606d; }
.cc-message.cc-bad { color: #ba2525; }
.cc-items { list-style: none; margin: 4px 0; padding: 0; }
.cc-items li { display: flex; align-items: baseline; gap: 6px; padding: 3px 0; font-size: 12px; }
.cc-state { flex: none; border-radius: 3px; padding: 0 6px; font-weight: 600; font-size: 11px; }
.cc-state[data-tone=pending] { background: #e6f6ff; color: #0b4f8a; }
.cc-state[data-tone=waiting] { background: #fffbea; color: #8d2b0b; }
.cc-state[data-tone=ok] { background: #e3f8e8; color: #17663a; }
.cc-state[data-tone=error] { background: #ffeeee; color: #ba2525; }
.cc-state[data-tone=muted] { background: #f0f4f8; color: #616e7c; }
.cc-items .cc-detail { flex: 1; overflow-wrap: anywhere; }
.cc-campaign { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
.cc-campaign select, .cc-campaign input { font: inherit; padding: 3px 6px; border: 1px solid #cbd2d9; border-radius: 4px; }
.cc-campaign select { flex: 1; min-width: 120px; }
.cc-buttons { display: flex; flex-wrap: wrap; gap: 4px; margin: 6px 0; }
.cc-buttons button { font-size: 12px; padding: 2px 8px; }
.cc-loading { color: #616e7c; padding: 8px 0; }
`;
