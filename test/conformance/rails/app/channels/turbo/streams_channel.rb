# frozen_string_literal: true

# As turbo-rails' Turbo::StreamsChannel (the broadcasting helpers it also extends are left out:
# the conformance app broadcasts through ActionCable.server.broadcast directly, as they do).
# @see https://github.com/hotwired/turbo-rails/blob/main/app/channels/turbo/streams_channel.rb
class Turbo::StreamsChannel < ActionCable::Channel::Base
  extend Turbo::Streams::StreamName
  include Turbo::Streams::StreamName::ClassMethods

  def subscribed
    if stream_name = verified_stream_name_from_params
      stream_from stream_name
    else
      reject
    end
  end
end
