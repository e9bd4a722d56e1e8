-- welcome.lua: greets newcomers when they join a room.
--
-- Posts as the bot "welcome" in the room joined. Limit it to some rooms
-- with the entry's `rooms` list. People only: bots joining are not greeted.
--
-- Config:
--   { file = "scripts/welcome.lua", rooms = { "general" },
--     options = { text = "Welcome to #{room}, {name}! Read the topic first." } }
-- In text, {room} is the room's name, {name} the newcomer's display name and
-- {user} their user name.

local text = parley.config.text or "Welcome to #{room}, {name}!"

parley.on("join", function(e)
  if e.user.role == "bot" then return end
  local values = { room = e.room_name, name = e.user.display_name, user = e.user.name }
  local greeting = text:gsub("{(%w+)}", function(k) return values[k] end)
  parley.send(e.room, greeting)
end)
