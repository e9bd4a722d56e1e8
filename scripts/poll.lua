-- poll.lua: /poll "question" option option … with live counts through
-- reactions.
--
--   /poll "Lunch?" pizza sushi salad   posts the poll and reacts 1️⃣ 2️⃣ 3️⃣;
--                                     people vote by reacting (one vote each:
--                                     the last reaction counts)
--   /poll results                      the counts of the room's latest poll
--   /poll close                        final counts; the poll is closed
--
-- Options may be quoted too ("ice cream"). Up to 9 options. Polls live in
-- parley.kv, so they survive restarts and reloads. No config.

local numbers = { "1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣" }
local index_of = {}
for i, e in ipairs(numbers) do index_of[e] = i end

local function words(s)
  local out = {}
  local pos = 1
  while pos <= #s do
    local q = s:match('^%s*"([^"]*)"', pos)
    if q then
      out[#out + 1] = q
      pos = select(2, s:find('^%s*"[^"]*"', pos)) + 1
    else
      local w = s:match("^%s*(%S+)", pos)
      if not w then break end
      out[#out + 1] = w
      pos = select(2, s:find("^%s*%S+", pos)) + 1
    end
  end
  return out
end

local function tally(poll)
  local counts = {}
  for i = 1, #poll.options do counts[i] = 0 end
  for _, choice in pairs(poll.votes) do counts[choice] = counts[choice] + 1 end
  local lines = { "📊 " .. poll.question }
  for i, option in ipairs(poll.options) do
    lines[#lines + 1] = ("%s %s: %d"):format(numbers[i], option, counts[i])
  end
  return table.concat(lines, "\n")
end

parley.command("poll", {
  help = "a poll with live counts (results, close)",
  usage = '/poll "question" option option …',
}, function(cmd)
  local args = words(cmd.args)
  local sub = args[1]
  if sub == "results" or sub == "close" then
    local id = parley.kv.get("latest:" .. cmd.room)
    local poll = id and parley.kv.get("poll:" .. id)
    if not poll then return cmd:reply("no open poll in this room") end
    if sub == "close" then
      parley.kv.delete("poll:" .. id)
      parley.kv.delete("latest:" .. cmd.room)
      return cmd:reply(tally(poll) .. "\n(closed)")
    end
    return cmd:reply(tally(poll))
  end
  local question = table.remove(args, 1)
  if not question or #args < 2 or #args > #numbers then
    return cmd:reply('usage: /poll "question" option option … (2 to 9 options)')
  end
  local lines = { "📊 " .. question }
  for i, option in ipairs(args) do lines[#lines + 1] = numbers[i] .. " " .. option end
  lines[#lines + 1] = "React to vote."
  local id, err = cmd:reply(table.concat(lines, "\n"))
  if not id then return parley.log.warn("poll not posted: " .. tostring(err)) end
  parley.kv.set("poll:" .. id, { question = question, options = args, room = cmd.room,
                                 votes = {} })
  parley.kv.set("latest:" .. cmd.room, id)
  for i = 1, #args do parley.react(cmd.room, id, numbers[i]) end
end)

parley.on("reaction", function(r)
  local choice = index_of[r.emoji]
  if not choice or r.user.role == "bot" then return end
  local poll = parley.kv.get("poll:" .. r.id)
  if not poll or choice > #poll.options then return end
  if r.on then
    poll.votes[r.user.id] = choice
  elseif poll.votes[r.user.id] == choice then
    poll.votes[r.user.id] = nil
  end
  parley.kv.set("poll:" .. r.id, poll)
end)
