// The options page: opens the companion's settings window in this tab through a one-time link.

import { createClient } from "../shared/client.js";
import { problemView } from "../shared/problems.js";
import { settingsLink } from "../shared/settings-link.js";

const client = createClient(chrome);
const message = /** @type {HTMLElement} */ (document.getElementById("message"));
const fix = /** @type {HTMLElement} */ (document.getElementById("fix"));
const retry = /** @type {HTMLButtonElement} */ (document.getElementById("open"));

async function open() {
  document.body.dataset.state = "opening";
  message.textContent = "Opening the settings window…";
  fix.hidden = true;
  retry.hidden = true;
  try {
    location.replace(await settingsLink(client));
  } catch (error) {
    const record = /** @type {{ code?: unknown, message?: unknown }} */ (error ?? {});
    const problem = problemView({
      code: typeof record.code === "string" ? record.code : "internal",
      message: typeof record.message === "string" ? record.message : String(error),
    });
    document.body.dataset.state = "failed";
    message.textContent = `${problem.title}. ${problem.detail}`;
    fix.textContent = problem.fix ?? "";
    fix.hidden = !problem.fix;
    retry.hidden = false;
  }
}

retry.addEventListener("click", () => void open());
void open();
