-- Reports the events it sees (moderation_test.lua).
for _, e in ipairs({ "leave", "delete", "edit", "reaction" }) do
  parley.on(e, function(ev)
    parley.send("observations", ("%s %s %s"):format(ev.event, ev.user.name, ev.id or ev.room_name))
  end)
end
