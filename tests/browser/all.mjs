// Every browser test in one process, sharing one Chromium (each file still
// gets its own server and fresh browser contexts). Exit status 1 if any
// failed.
//   node tests/browser/all.mjs BUILD_DIR
import { launch } from './lib.mjs';

globalThis.parleyBrowser = await launch();
try {
  for (const t of ['format.test.mjs', 'prune.test.mjs', 'i18n_keys.test.mjs', 'chat.mjs', 'offline.mjs', 'rooms.mjs', 'history.mjs', 'uploads.mjs', 'scripts.mjs', 'oidc.mjs', 'previews.mjs', 'follow.mjs', 'polish.mjs', 'i18n.mjs', 'search.mjs', 'profile.mjs', 'threads.mjs', 'export.mjs', 'room_admin.mjs']) {
    await import('./' + t);
  }
} finally {
  await globalThis.parleyBrowser.close();
}
