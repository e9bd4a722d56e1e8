-- wordfilter.lua: patterns from the config; per pattern, reject the
-- message, mask the match, or let it pass and warn the moderators.
--
-- Patterns are Lua patterns (https://www.lua.org/manual/5.4/manual.html#6.4.1)
-- (written in lower case) matched against the lower-cased text, or plain
-- words with plain = true.
-- Actions:
--   reject  the sender gets an error (code forbidden) with `reason`
--   mask    each match is replaced by asterisks and the message posted
--   warn    the message passes; the bot "wordfilter" posts a note in the
--           moderators' room (options.moderators_room, default "moderators")
--
-- Config:
--   { file = "scripts/wordfilter.lua", options = {
--       moderators_room = "moderators",
--       patterns = {
--         { pattern = "buy cheap", plain = true, action = "reject",
--           reason = "no advertising" },
--         { pattern = "%f[%w]darn%f[%W]", action = "mask" },
--         { pattern = "password", action = "warn" },
--       } } }

local rules = {}
for i, p in ipairs(parley.config.patterns or {}) do
  local action = p.action or "reject"
  assert(action == "reject" or action == "mask" or action == "warn",
         ("patterns[%d].action must be reject, mask or warn"):format(i))
  local pattern = assert(p.pattern, ("patterns[%d].pattern is required"):format(i))
  -- plain words are lower-cased like the text; patterns are taken as written
  -- (lower-casing would turn %W into %w): write them in lower case
  if p.plain then pattern = pattern:lower():gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0") end
  assert(pcall(string.find, "", pattern), ("patterns[%d]: bad pattern"):format(i))
  rules[#rules + 1] = { pattern = pattern, action = action,
                        reason = p.reason or "the message contains a forbidden word" }
end
local mods = parley.config.moderators_room or "moderators"

local function mask(text, pattern)
  -- find on the lower-cased copy, replace in the original (same byte offsets)
  local lower, out, pos = text:lower(), {}, 1
  while pos <= #text do
    local s, e = lower:find(pattern, pos)
    if not s or e < s then break end
    out[#out + 1] = text:sub(pos, s - 1)
    out[#out + 1] = ("*"):rep(utf8.len(text:sub(s, e)) or (e - s + 1))
    pos = e + 1
  end
  out[#out + 1] = text:sub(pos)
  return table.concat(out)
end

parley.on("before_message", function(m)
  local text, changed = m.text, false
  local lower = text:lower()
  for _, r in ipairs(rules) do
    if lower:find(r.pattern) then
      if r.action == "reject" then
        return false, r.reason
      elseif r.action == "mask" then
        text = mask(text, r.pattern)
        lower = text:lower()
        changed = true
      elseif parley.rooms.get(mods) then
        parley.send(mods, ("⚠ %s wrote in #%s: %s"):format(m.user.name, m.room_name, m.text))
      end
    end
  end
  if changed then return text end
end)
