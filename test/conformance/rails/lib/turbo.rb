# frozen_string_literal: true

# The part of turbo-rails that Turbo::StreamsChannel needs, reproduced because turbo-rails is
# not packaged by Debian. Same verifier, same key handling.
# @see https://github.com/hotwired/turbo-rails/blob/main/lib/turbo-rails.rb
module Turbo
  class << self
    attr_writer :signed_stream_verifier_key

    def signed_stream_verifier
      @signed_stream_verifier ||= ActiveSupport::MessageVerifier.new(signed_stream_verifier_key, digest: "SHA256", serializer: JSON)
    end

    def signed_stream_verifier_key
      @signed_stream_verifier_key or raise ArgumentError, "Turbo requires a signed_stream_verifier_key"
    end
  end
end

require_relative "turbo/streams/stream_name"
