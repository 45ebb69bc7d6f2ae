# frozen_string_literal: true

# POST /broadcast {"stream": "...", "message": <any JSON>} -> ActionCable.server.broadcast,
# which is what Turbo::StreamsChannel.broadcast_* end in.
class BroadcastEndpoint
  def call(env)
    return [405, { "Content-Type" => "text/plain" }, ["POST only\n"]] unless env["REQUEST_METHOD"] == "POST"

    body = JSON.parse(env["rack.input"].read)
    stream = body.fetch("stream")
    ActionCable.server.broadcast(stream, body.fetch("message"))
    [202, { "Content-Type" => "application/json" }, [JSON.generate({ stream: stream })]]
  rescue JSON::ParserError, KeyError => e
    [400, { "Content-Type" => "text/plain" }, ["#{e.message}\n"]]
  end
end
