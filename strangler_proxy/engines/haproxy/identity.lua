-- The engine's identity hook (rendered by the agent: the two values below are filled in).
--
-- For a request going to a new upstream with the monolith's session cookie, ask the agent's identity
-- sidecar (Python, on loopback) for the signed X-Strangler-Identity of that session, cache the answer
-- (anonymous ones too) for CACHE_S seconds per HAProxy thread, and add the header. A failed lookup
-- sets txn.identity_failed: the request is answered 502, as the data plane answers it.
local URL = "@URL@"
local TOKEN = "@TOKEN@"
local CACHE_S = 30
local MAX_ENTRIES = 10000

local cache = {}
local entries = 0

core.register_action("strangler_identity", { "http-req" }, function(txn)
    local session = txn:get_var("txn.sid")
    if session == nil or session == "" then
        return
    end
    local now = core.now().sec
    local hit = cache[session]
    if hit == nil or hit.expires <= now then
        local answer = core.httpclient():get({
            url = URL,
            headers = { ["x-strangler-sidecar"] = { TOKEN }, ["x-legacy-session"] = { session } },
            timeout = 3000,
        })
        if answer == nil or (answer.status ~= 200 and answer.status ~= 204) then
            txn:set_var("txn.identity_failed", 1)
            return
        end
        if entries >= MAX_ENTRIES then
            cache = {}
            entries = 0
        end
        if cache[session] == nil then
            entries = entries + 1
        end
        local value = nil
        if answer.status == 200 then
            value = answer.body
        end
        hit = { expires = now + CACHE_S, value = value }
        cache[session] = hit
    end
    if hit.value ~= nil then
        txn.http:req_set_header("x-strangler-identity", hit.value)
    end
end, 0)
