-- wrk: POST connector/ with a name unique per thread and request, as $TOKEN.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local headers = { ["Authorization"] = "Bearer " .. os.getenv("TOKEN"), ["Content-Type"] = "application/json" }
local n = 0
request = function()
  n = n + 1
  local body = '{"connector_id": "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", "connector_name": "wrk-'
    .. tid .. '-' .. n .. '", "connector_metadata": {"host": "db.example", "port": "5432", "database": "app",'
    .. ' "user": "app", "password": "bench-secret"}}'
  return wrk.format("POST", "/api/v1/unstract/default/connector/", headers, body)
end
