# frozen_string_literal: true

# As turbo-rails' app/channels/turbo/streams/stream_name.rb.
# @see https://github.com/hotwired/turbo-rails/blob/main/app/channels/turbo/streams/stream_name.rb
module Turbo
  module Streams
    module StreamName
      # Used by Turbo::StreamsChannel to verify a signed stream name.
      def verified_stream_name(signed_stream_name)
        Turbo.signed_stream_verifier.verified signed_stream_name
      end

      # Used by turbo_stream_from to generate a signed stream name.
      def signed_stream_name(streamables)
        Turbo.signed_stream_verifier.generate stream_name_from(streamables)
      end

      module ClassMethods
        # Can be used by custom turbo stream channels to obtain the signed stream name from params.
        def verified_stream_name_from_params
          self.class.verified_stream_name(params[:signed_stream_name])
        end
      end

      private

      def stream_name_from(streamables)
        if streamables.is_a?(Array)
          streamables.map { |streamable| stream_name_from(streamable) }.join(":")
        else
          streamables.then { |streamable| streamable.try(:to_gid_param) || streamable.to_param }
        end
      end
    end
  end
end
