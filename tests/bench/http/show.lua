-- wrk: GET /api/v1/vms/vmNNNNN over the 10,000 VMs of bench-api populate,
-- in a pseudo-random order, with the API key from the TOKEN environment
-- variable.
local token = os.getenv("TOKEN")
local n = 0
request = function()
	n = (n * 7919 + 13) % 10000
	return wrk.format("GET", string.format("/api/v1/vms/vm%05d", n),
		{["Authorization"] = "Bearer " .. token})
end
