-- A before_message handler that never ends (failures_test.lua).
parley.on("before_message", function(m)
  if m.text == "slow" then while true do end end
end)
