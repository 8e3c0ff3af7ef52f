-- The engine's identity hook (rendered by the agent: the two values below are filled in).
--
-- For a request going to a new upstream with a credential the monolith accepts (HTTP basic auth in
-- txn.cred, else its session cookie in txn.sid), ask the agent's identity sidecar (Python, on
-- loopback) for the signed X-Strangler-Identity, cache the answer for CACHE_S seconds per HAProxy
-- thread under txn.ckey (an HMAC of the credential, never the credential itself) and add the header.
-- An anonymous session is cached too; credentials the monolith refuses (the sidecar answers 404) are
-- not: each attempt is checked again, as the monolith would. A failed lookup sets
-- txn.identity_failed: the request is answered 502, as the data plane answers it.
local URL = "@URL@"
local TOKEN = "@TOKEN@"
local CACHE_S = 30
local MAX_ENTRIES = 10000

local cache = {}
local entries = 0

local function ask(txn)
    local headers = { ["x-strangler-sidecar"] = { TOKEN } }
    local credential = txn:get_var("txn.cred")
    if credential ~= nil and credential ~= "" then
        headers["x-legacy-authorization"] = { credential }
    else
        headers["x-legacy-session"] = { txn:get_var("txn.sid") }
    end
    return core.httpclient():get({ url = URL, headers = headers, timeout = 3000 })
end

core.register_action("strangler_identity", { "http-req" }, function(txn)
    local key = txn:get_var("txn.ckey")
    if key == nil or key == "" then
        return
    end
    local now = core.now().sec
    local hit = cache[key]
    if hit == nil or hit.expires <= now then
        local answer = ask(txn)
        if answer ~= nil and answer.status == 404 then
            return -- refused credentials: anonymous, never remembered
        end
        if answer == nil or (answer.status ~= 200 and answer.status ~= 204) then
            txn:set_var("txn.identity_failed", 1)
            return
        end
        if entries >= MAX_ENTRIES then
            cache = {}
            entries = 0
        end
        if cache[key] == nil then
            entries = entries + 1
        end
        local value = nil
        if answer.status == 200 then
            value = answer.body
        end
        hit = { expires = now + CACHE_S, value = value }
        cache[key] = hit
    end
    if hit.value ~= nil then
        txn.http:req_set_header("x-strangler-identity", hit.value)
    end
end, 0)
