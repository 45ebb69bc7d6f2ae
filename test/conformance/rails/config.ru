# frozen_string_literal: true

# A real ActionCable server (Rails' own code, no full Rails app) for test/conformance: the same
# ApplicationCable::Connection and Turbo::StreamsChannel a Rails app with turbo-rails serves.
#
#   TURBO_STREAMS_SECRET=... puma -b tcp://127.0.0.1:3334 test/conformance/rails/config.ru
#
# Endpoints:
#   /cable             ActionCable.server: any origin, as with disable_request_forgery_protection
#   /cable-restricted  a second ActionCable server that only allows ALLOWED_ORIGIN
#   POST /broadcast    {"stream": "...", "message": ...} -> ActionCable.server.broadcast
#   GET /up            200 once booted

require "json"
require "logger"
require "openssl" # loaded at boot in a Rails app; a lazy first require races between worker threads
require "action_cable"
require "active_support"
require "active_support/message_verifier"
require "active_support/core_ext/object/json"

$LOAD_PATH.unshift File.expand_path("lib", __dir__)
require "turbo"
require_relative "app/channels/application_cable/connection"
require_relative "app/channels/application_cable/channel"
require_relative "app/channels/turbo/streams_channel"
require_relative "app/broadcast_endpoint"

Turbo.signed_stream_verifier_key = ENV.fetch("TURBO_STREAMS_SECRET")
# Warm up as a booted Rails app is: constants MessageVerifier resolves on first use are loaded now.
Turbo::StreamsChannel.verified_stream_name(Turbo::StreamsChannel.signed_stream_name("boot"))

logger = ActiveSupport::TaggedLogging.new(Logger.new($stdout))
logger.level = ENV.fetch("CABLE_LOG_LEVEL", "info")

configure = lambda do |config|
  config.cable = { "adapter" => "async" }
  config.logger = logger
  config.connection_class = -> { ApplicationCable::Connection }
  config.url = "/cable"
  config.mount_path = "/cable"
  config.worker_pool_size = 4
end

configure.call(ActionCable.server.config)
ActionCable.server.config.allowed_request_origins = nil
ActionCable.server.config.disable_request_forgery_protection = true

restricted = ActionCable::Server::Base.new(config: ActionCable::Server::Configuration.new.tap do |config|
  configure.call(config)
  config.disable_request_forgery_protection = false
  config.allow_same_origin_as_host = false
  config.allowed_request_origins = [ENV.fetch("ALLOWED_ORIGIN", "https://allowed.example")]
end)

map("/cable") { run ActionCable.server }
map("/cable-restricted") { run restricted }
map("/broadcast") { run BroadcastEndpoint.new }
map("/up") { run ->(_env) { [200, { "Content-Type" => "text/plain" }, ["ok\n"]] } }
