-- echo_http.lua: /ask text — sends the text to an HTTP API and posts its
-- answer. A template for chatbot and AI integrations.
--
-- The request: POST options.url with the JSON body
--   {"text": "...", "user": "alice", "room": "general"}
-- and, when options.token is set, "Authorization: Bearer <token>".
-- The answer: JSON {"reply": "..."} (or any text, posted as it is).
-- The API's host must be on the entry's http_allow list.
--
-- Config (the token from the environment, never in the file):
--   { file = "scripts/echo_http.lua", http_allow = { "api.example.org" },
--     options = { url = "https://api.example.org/v1/echo", token = env("ECHO_TOKEN"),
--                 command = "ask", timeout = 10 } }

local url = parley.config.url or "https://api.example.org/v1/echo"
local token = parley.config.token
local timeout = tonumber(parley.config.timeout) or 10

parley.command(parley.config.command or "ask", {
  help = "asks the configured web service and posts its answer",
  usage = "/" .. (parley.config.command or "ask") .. " your question",
}, function(cmd)
  if cmd.args == "" then return cmd:reply("usage: /ask your question") end
  local headers = { ["Content-Type"] = "application/json" }
  if token then headers["Authorization"] = "Bearer " .. token end
  local res, err = parley.http.request{
    method = "POST", url = url, headers = headers, timeout = timeout,
    body = parley.json.encode{ text = cmd.args, user = cmd.user.name, room = cmd.room_name },
  }
  if not res then return cmd:reply("the service cannot be reached: " .. err) end
  if res.status ~= 200 then return cmd:reply(("the service answered %d"):format(res.status)) end
  local data = parley.json.decode(res.body)
  local answer = type(data) == "table" and data.reply or res.body
  cmd:reply(tostring(answer):sub(1, 3000))
end)
