-- remind.lua: /remind 10m text — the bot "remind" posts the text back to
-- you in the same room when the time is up.
--
--   /remind 90s stretch       durations: 45s, 10m, 2h, 3d (up to 365 days)
--   /remind list              your pending reminders in this room
--
-- Reminders are kept in parley.kv and rescheduled when the script loads,
-- so they survive restarts and reloads (one that fell due while the server
-- was down is posted at once). No config.
--
-- With several nodes every node that loaded a reminder schedules it; the
-- timer's `once` key makes one node of the cluster post it. The kv table
-- is the cluster's list: changes are read, merged and written back (two
-- nodes changing it in the same instant can still lose one change).

local pending = {} -- id -> { id, user, name, room, text, due }: scheduled here
local units = { s = 1, m = 60, h = 3600, d = 86400 }

local function saved()
  return parley.kv.get("reminders") or {}
end

local function save_one(id, r)
  local all = saved()
  all[id] = r
  parley.kv.set("reminders", all)
end

local function fire(id)
  local r = pending[id]
  if not r then return end
  pending[id] = nil
  parley.send(r.room, ("⏰ @%s: %s"):format(r.name, r.text))
  save_one(id, nil)
end

local function schedule(r)
  parley.timer(math.max(0, r.due - os.time()), function() fire(r.id) end,
               { once = "remind:" .. r.id })
end

parley.command("remind", {
  help = "posts your text back to you after a while (list: yours here)",
  usage = "/remind 10m text",
}, function(cmd)
  if cmd.args == "list" then
    local mine = {}
    for _, r in pairs(saved()) do
      if r.user == cmd.user.id and r.room == cmd.room then
        mine[#mine + 1] = ("in %d s: %s"):format(r.due - os.time(), r.text)
      end
    end
    table.sort(mine)
    return cmd:reply(#mine > 0 and table.concat(mine, "\n") or "no reminders")
  end
  local n, unit, text = cmd.args:match("^(%d+)([smhd])%s+(.+)$")
  local secs = n and tonumber(n) * units[unit]
  if not secs or secs < 1 or secs > 365 * 86400 then
    return cmd:reply("usage: /remind 10m text (s, m, h or d; up to 365 days)")
  end
  local id = tostring(parley.kv.incr("next_id"))
  local r = { id = id, user = cmd.user.id, name = cmd.user.name, room = cmd.room,
              text = text, due = os.time() + secs }
  pending[id] = r
  save_one(id, r)
  schedule(r)
  cmd:reply(("ok, in %s%s I will remind you."):format(n, unit))
end)

-- Load the saved ones (kv waits: run it as a timer right after loading).
parley.timer(0, function()
  for id, r in pairs(parley.kv.get("reminders") or {}) do
    if not pending[id] then
      pending[id] = r
      schedule(r)
    end
  end
end)
