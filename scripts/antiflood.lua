-- antiflood.lua: rate limit per user and room, with escalating penalties.
--
-- A person may post max_messages messages per per_seconds seconds in a
-- room. Going over it the first time: the message is rejected with a
-- warning. Again (within forgive_after seconds of the last offence): a mute
-- of mutes[1] seconds (1 min), then mutes[2] (10 min) for every further
-- offence. The bot "antiflood" announces mutes in the room. Bots are not
-- limited. Needs moderation = true (for parley.mute).
--
-- Config:
--   { file = "scripts/antiflood.lua", moderation = true,
--     options = { max_messages = 5, per_seconds = 10, mutes = { 60, 600 },
--                 forgive_after = 3600 } }

local max = tonumber(parley.config.max_messages) or 5
local per = tonumber(parley.config.per_seconds) or 10
local steps = parley.config.mutes or { 60, 600 }
local forgive = tonumber(parley.config.forgive_after) or 3600

local recent = {}   -- "user|room" -> queue of recent message times {first=, last=, …}
local offences = {} -- user id -> { n = count, last = time }

local function human(secs)
  if secs % 60 == 0 then return ("%d min"):format(secs // 60) end
  return ("%d s"):format(secs)
end

parley.on("before_message", function(m)
  if m.user.role == "bot" then return end
  local now = os.time()
  local key = m.user.id .. "|" .. m.room
  local q = recent[key]
  if not q then
    q = { first = 1, last = 0 }
    recent[key] = q
  end
  while q.first <= q.last and q[q.first] <= now - per do -- drop the old ones
    q[q.first] = nil
    q.first = q.first + 1
  end
  if q.last - q.first + 1 < max then
    q.last = q.last + 1
    q[q.last] = now
    return
  end
  local o = offences[m.user.id]
  if not o or now - o.last > forgive then
    o = { n = 0 }
    offences[m.user.id] = o
  end
  o.n = o.n + 1
  o.last = now
  if o.n == 1 then
    return false, ("slow down: at most %d messages in %d s"):format(max, per)
  end
  local secs = steps[math.min(o.n - 1, #steps)]
  parley.mute(m.user.id, m.room, secs)
  parley.send(m.room, ("%s is muted for %s for flooding."):format(m.user.name, human(secs)))
  return false, ("muted for %s for flooding"):format(human(secs))
end)

-- forget the quiet ones
parley.every(60, function()
  local now = os.time()
  for key, q in pairs(recent) do
    if q.first > q.last or q[q.last] <= now - per then recent[key] = nil end
  end
  for user, o in pairs(offences) do
    if now - o.last > forgive then offences[user] = nil end
  end
end)
