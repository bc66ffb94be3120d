-- wrk: GET connector/{id}/ cycling through the ids in $IDS_FILE, as $TOKEN.
local ids = {}
for line in io.lines(os.getenv("IDS_FILE")) do ids[#ids + 1] = line end
local headers = { ["Authorization"] = "Bearer " .. os.getenv("TOKEN") }
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/api/v1/unstract/default/connector/" .. ids[(i % #ids) + 1] .. "/", headers)
end
