-- A minimal blocking HTTP/1.0 client over libuv, for :checkhealth (no curl needed).
local M = {}

---@param method string
---@param url string http://host:port/path
---@param opts { body?: string, headers?: table<string,string>, timeout_ms?: integer }
---@return integer? status
---@return string body_or_error
function M.request(method, url, opts)
  local timeout_ms = opts.timeout_ms or 5000
  local host, port, path = url:match("^http://([^:/]+):?(%d*)(.*)$")
  if not host then
    return nil, "not an http:// URL: " .. url
  end
  port = tonumber(port) or 80
  path = path ~= "" and path or "/"
  local addrs = vim.uv.getaddrinfo(host, nil, { socktype = "stream" })
  if not addrs or not addrs[1] then
    return nil, "cannot resolve " .. host
  end
  local tcp = assert(vim.uv.new_tcp())
  local done, failure = false, nil
  local chunks = {}
  local function finish(e)
    failure = failure or e
    done = true
    if not tcp:is_closing() then
      tcp:close()
    end
  end
  tcp:connect(addrs[1].addr, port, function(e)
    if e then
      return finish(e)
    end
    local head = { ("%s %s HTTP/1.0"):format(method, path), ("Host: %s:%d"):format(host, port) }
    for k, v in pairs(opts.headers or {}) do
      table.insert(head, k .. ": " .. v)
    end
    if opts.body then
      table.insert(head, "Content-Length: " .. #opts.body)
    end
    tcp:write(table.concat(head, "\r\n") .. "\r\n\r\n" .. (opts.body or ""))
    tcp:read_start(function(e2, data)
      if e2 then
        finish(e2)
      elseif data then
        table.insert(chunks, data)
      else
        finish(nil)
      end
    end)
  end)
  if not vim.wait(timeout_ms, function()
    return done
  end, 10) then
    finish("timed out after " .. timeout_ms .. " ms")
  end
  if failure then
    return nil, tostring(failure)
  end
  local response = table.concat(chunks)
  local status = tonumber(response:match("^HTTP/%d%.%d (%d%d%d)"))
  if not status then
    return nil, "not an HTTP response"
  end
  return status, response:match("\r\n\r\n(.*)$") or ""
end

---@param url string
---@param timeout_ms integer
---@return integer? status
---@return string body_or_error
function M.get(url, timeout_ms)
  return M.request("GET", url, { timeout_ms = timeout_ms })
end

return M
