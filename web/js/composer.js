// Writing: Enter sends, Shift+Enter is a newline; @ completes members of
// the room, / lists the slash commands the server offers; reply and edit
// modes (Up in an empty box edits the last own message, Esc cancels);
// attachments by button, drag and drop, or paste, each with a progress bar.
import { $, el, button, formatSize } from './dom.js';
import { state, roomMessages } from './state.js';
import { upload } from './uploads.js';
import { avatarImg, displayName } from './profile.js';
import { t } from './i18n.js';

const TYPING_EVERY_MS = 3000;
const MAX_SUGGEST = 8;

export class Composer {
  constructor(hooks) {
    this.hooks = hooks; // send({text, reply_to, attachments}), edit(m, text), typing(), members()
    this.box = $('text');
    this.mode = null; // null | {reply: m} | {edit: m}
    this.files = []; // {file, progress, up, error, el}
    this.suggest = { items: [], sel: 0, start: 0, kind: null };
    this.lastTyping = 0;
    this.drafts = new Map(); // room id -> unsent text
    this.box.addEventListener('keydown', (ev) => this.onKey(ev));
    this.box.addEventListener('input', () => this.onInput());
    this.box.addEventListener('paste', (ev) => this.onPaste(ev));
    $('composer').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.submit();
    });
    $('attach').addEventListener('click', () => $('file-input').click());
    $('file-input').addEventListener('change', (ev) => {
      this.addFiles([...ev.target.files]);
      ev.target.value = '';
    });
    const room = $('room');
    room.addEventListener('dragover', (ev) => {
      if (!state.features.uploads || !ev.dataTransfer.types.includes('Files')) return;
      ev.preventDefault();
      room.classList.add('dropping');
    });
    room.addEventListener('dragleave', (ev) => {
      if (ev.target === room || !room.contains(ev.relatedTarget)) room.classList.remove('dropping');
    });
    room.addEventListener('drop', (ev) => {
      room.classList.remove('dropping');
      if (!state.features.uploads || !ev.dataTransfer.files.length) return;
      ev.preventDefault();
      this.addFiles([...ev.dataTransfer.files]);
    });
  }

  focus() {
    this.box.focus();
  }

  resize() {
    this.box.style.height = 'auto';
    this.box.style.height = Math.min(this.box.scrollHeight + 2, 200) + 'px';
  }

  setMode(mode) {
    this.mode = mode;
    const bar = $('compose-mode');
    bar.replaceChildren();
    bar.hidden = !mode;
    if (mode) {
      const m = mode.reply || mode.edit;
      const label = mode.reply ? t('composer_replying', { name: m.user ? displayName(m.user) : '', text: (m.text || '').slice(0, 80) })
        : t('composer_editing');
      bar.append(el('span', 'grow', label));
      bar.append(el('span', 'muted', t('composer_esc')));
      bar.append(button('×', 'icon', () => this.cancel(), t('composer_cancel')));
    }
    if (mode && mode.edit) {
      this.box.value = mode.edit.text || '';
      this.resize();
    }
    this.focus();
  }

  cancel() {
    if (this.mode && this.mode.edit) this.box.value = '';
    this.setMode(null);
    this.resize();
  }

  // Switching rooms keeps what was typed in each (not files or modes).
  switchRoom(from, to) {
    if (from && !(this.mode && this.mode.edit)) this.drafts.set(from, this.box.value);
    this.reset();
    this.box.value = (to && this.drafts.get(to)) || '';
    this.resize();
  }

  reset() {
    this.box.value = '';
    this.files = [];
    this.renderFiles();
    this.mode = null;
    $('compose-mode').hidden = true;
    this.closeSuggest();
  }

  async submit() {
    const text = this.box.value.replace(/\s+$/, '').replace(/^\n+/, '');
    if (this.mode && this.mode.edit) {
      const m = this.mode.edit;
      if (text && text !== m.text) this.hooks.edit(m, text);
      this.box.value = '';
      this.setMode(null);
      this.resize();
      return;
    }
    if (this.files.some((f) => !f.up && !f.error)) return; // still uploading
    const attachments = this.files.filter((f) => f.up).map((f) => f.up.id);
    if (!text.trim() && !attachments.length) return;
    this.hooks.send({
      text: text.trim() ? text : this.files.filter((f) => f.up).map((f) => f.up.name).join(', '),
      reply_to: this.mode && this.mode.reply ? this.mode.reply.id : undefined,
      attachments: attachments.length ? attachments : undefined,
    });
    this.box.value = '';
    this.files = [];
    this.renderFiles();
    this.setMode(null);
    this.resize();
  }

  onKey(ev) {
    if (this.suggest.items.length) {
      if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
        ev.preventDefault();
        const n = this.suggest.items.length;
        this.suggest.sel = (this.suggest.sel + (ev.key === 'ArrowDown' ? 1 : n - 1)) % n;
        this.renderSuggest();
        return;
      }
      if (ev.key === 'Enter' || ev.key === 'Tab') {
        ev.preventDefault();
        this.pick(this.suggest.items[this.suggest.sel]);
        return;
      }
      if (ev.key === 'Escape') {
        ev.preventDefault();
        ev.stopPropagation();
        this.closeSuggest();
        return;
      }
    }
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      this.submit();
    } else if (ev.key === 'Escape' && this.mode) {
      ev.preventDefault();
      this.cancel();
    } else if (ev.key === 'ArrowUp' && !ev.altKey && !this.box.value && !this.mode) {
      const list = roomMessages(state.current).list;
      for (let i = list.length - 1; i >= 0 && i >= list.length - 200; i--) {
        const m = list[i];
        if (m.user && state.me && m.user.id === state.me.id && !m.deleted) {
          ev.preventDefault();
          this.setMode({ edit: m });
          break;
        }
      }
    }
  }

  onInput() {
    this.resize();
    const now = Date.now();
    if (this.box.value && now - this.lastTyping > TYPING_EVERY_MS) {
      this.lastTyping = now;
      this.hooks.typing();
    }
    this.updateSuggest();
  }

  async updateSuggest() {
    const v = this.box.value;
    const caret = this.box.selectionStart;
    const before = v.slice(0, caret);
    const slash = /^\/([\w-]*)$/.exec(before);
    const at = /(^|\s)@([\w.-]*)$/.exec(before);
    if (slash) {
      const q = slash[1].toLowerCase();
      this.suggest.kind = '/';
      this.suggest.start = 0;
      this.suggest.items = state.commands
        .filter((c) => c.name.toLowerCase().startsWith(q))
        .slice(0, MAX_SUGGEST)
        .map((c) => ({
          label: c.usage && c.usage !== '/' + c.name ? c.usage : '/' + c.name,
          hint: c.help || c.description || (c.script ? t('composer_command_from', { script: c.script }) : ''),
          insert: '/' + c.name + ' ',
        }));
    } else if (at) {
      const q = at[2].toLowerCase();
      this.suggest.kind = '@';
      this.suggest.start = caret - at[2].length - 1;
      const members = await this.hooks.members();
      const item = (m, outside) => ({
        label: '@' + m.name,
        hint: (m.display_name && m.display_name !== m.name ? m.display_name : '') +
          (outside ? ' · ' + t('composer_not_in_room') : ''),
        insert: '@' + m.name + ' ',
        user: m,
      });
      this.suggest.items = members
        .filter((m) => m.name.toLowerCase().startsWith(q) || (m.display_name || '').toLowerCase().startsWith(q))
        .slice(0, MAX_SUGGEST)
        .map((m) => item(m, false));
      // The directory fills the list with people who are not members yet
      // (a mention does not reach them: the hint says so).
      if (q && this.suggest.items.length < MAX_SUGGEST && this.hooks.directory) {
        const inRoom = new Set(members.map((m) => m.id));
        const others = (await this.hooks.directory(q)).filter((u) => !inRoom.has(u.id));
        if (this.box.value.slice(0, this.box.selectionStart) !== before) return; // typed on meanwhile
        for (const u of others.slice(0, MAX_SUGGEST - this.suggest.items.length)) this.suggest.items.push(item(u, true));
      }
    } else {
      this.suggest.items = [];
    }
    this.suggest.sel = 0;
    this.renderSuggest();
  }

  renderSuggest() {
    const ul = $('suggest');
    ul.replaceChildren();
    ul.hidden = !this.suggest.items.length;
    this.box.setAttribute('aria-expanded', this.suggest.items.length ? 'true' : 'false');
    this.suggest.items.forEach((it, i) => {
      const li = el('li', i === this.suggest.sel ? 'selected' : '');
      li.id = 'suggest-' + i;
      li.setAttribute('role', 'option');
      li.setAttribute('aria-selected', i === this.suggest.sel ? 'true' : 'false');
      if (it.user) li.append(avatarImg(it.user, 'avatar avatar-small'), document.createTextNode(' '));
      li.append(el('span', null, it.label));
      if (it.hint) li.append(el('span', 'muted', ' ' + it.hint));
      li.addEventListener('mousedown', (ev) => {
        ev.preventDefault();
        this.pick(it);
      });
      ul.append(li);
    });
    if (this.suggest.items.length) this.box.setAttribute('aria-activedescendant', 'suggest-' + this.suggest.sel);
    else this.box.removeAttribute('aria-activedescendant');
  }

  pick(it) {
    const v = this.box.value;
    const caret = this.box.selectionStart;
    this.box.value = v.slice(0, this.suggest.start) + it.insert + v.slice(caret);
    const pos = this.suggest.start + it.insert.length;
    this.box.setSelectionRange(pos, pos);
    this.closeSuggest();
    this.focus();
  }

  closeSuggest() {
    this.suggest.items = [];
    this.renderSuggest();
  }

  onPaste(ev) {
    if (!state.features.uploads) return;
    const files = [...(ev.clipboardData ? ev.clipboardData.files : [])];
    if (files.length) {
      ev.preventDefault();
      this.addFiles(files);
    }
  }

  addFiles(files) {
    const max = state.server && state.server.limits && state.server.limits.max_upload;
    for (const file of files) {
      const f = { file, progress: 0, up: null, error: null };
      this.files.push(f);
      if (max && file.size > max) {
        f.error = t('upload_too_large', { max: formatSize(max) });
        continue;
      }
      upload(file, (p) => {
        f.progress = p;
        this.renderFiles();
      }).then((r) => {
        if (r.ok) f.up = r.data;
        else {
          f.error = r.message;
          if (r.status === 404) this.hooks.noUploads();
        }
        this.renderFiles();
      });
    }
    this.renderFiles();
    this.focus();
  }

  renderFiles() {
    const tray = $('files');
    tray.replaceChildren();
    tray.hidden = !this.files.length;
    for (const f of this.files) {
      const card = el('div', 'upload' + (f.error ? ' failed' : f.up ? ' done' : ''));
      card.append(el('span', 'file-name', f.file.name || t('upload_pasted')), el('span', 'muted', formatSize(f.file.size)));
      if (f.error) card.append(el('span', 'error', f.error));
      else if (!f.up) {
        const bar = el('progress');
        bar.max = 1;
        bar.value = f.progress;
        bar.setAttribute('aria-label', t('upload_progress', { name: f.file.name || t('upload_pasted') }));
        card.append(bar);
      }
      card.append(button('×', 'icon', () => {
        this.files = this.files.filter((x) => x !== f);
        this.renderFiles();
      }, t('upload_remove', { name: f.file.name || t('upload_pasted') })));
      tray.append(card);
    }
  }
}
