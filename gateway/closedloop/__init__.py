"""The closed loop (闭环) as pure rules: the record's states, reply commands, ratings, trust."""
